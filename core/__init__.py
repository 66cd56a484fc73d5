"""The base every package stands on: settings, the database engine and session,
users, sign-in and roles, the admin's pages, the errors services raise (`errors`,
without HTTP) and their statuses and JSON form (`api`), the OpenAPI document,
translations, security headers. It imports no domain package: what it needs from one
(the model modules, the admin's figures, the technician lookup) is handed to it by
app.py or registered by that package's init_app (see docs/architecture.md)."""
