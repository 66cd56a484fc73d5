"""The tests' data, built in one place: read these modules to learn how a test world is
made, and add to them rather than writing a builder inside a test file.

world        the small region every service test starts from (make_world), its day
             DAY and local times (local_dt), another terminal (make_terminal)
people       users (make_user), the one test password, signing in by form (login)
             or API (bearer)
workorders   a fault reported at the desk (make_fault) and the repair it is
             escalated to (make_repair), a work order row (make_work_order), reading
             work orders and their events
planning     a day to plan (make_planning_world), then that day as a draft, solved
             and published plan; BEFORE, the planner's "now"; a plan and its visits
             written directly (make_plan, make_visit)
field        tech01's published day (make_day), a visit tomorrow, walking a visit on
             site (to_on_site), the phone's action ids (aid), the van's stock
stock        spare parts (make_part, a serial-tracked board in the van), a location's
             level of a part (level), loaners in the depot's pool
maintenance  preventive plans (make_pm_plan) and their occurrences, a repair history
             for the analytics and the archive (make_repair_history)
sms          a message in the outbox, queued as the app queues it (queue_sms)
images       photos of any format and size (image_bytes), a drawn signature
words        the world in which every vocabulary word shows on some page
             (make_words_world)

Conventions: `make_*` writes rows and returns them, committed unless its docstring says
otherwise; plain nouns read what is committed (events, level, occurrences). A builder
takes the test's session first and the world second. A file that needs the same
variant often names it with functools.partial (its own values, the shared builder).
The values written here are the ones tests assert on: change one and run the tests
that use it."""
