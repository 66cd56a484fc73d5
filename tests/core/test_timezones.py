"""A time that belongs to no region is shown in the DEFAULT_TIMEZONE setting's zone,
not in a zone written into the code."""
from __future__ import annotations

from core.models import Region
from core.timeutil import default_timezone, region_timezone


def test_no_region_means_the_default_timezone_setting(app, monkeypatch):
    berlin = app.config["FIXROUTE"].model_copy(update={"default_timezone": "Europe/Berlin"})
    monkeypatch.setitem(app.config, "FIXROUTE", berlin)
    with app.app_context():
        assert default_timezone() == "Europe/Berlin"
        assert region_timezone(None) == "Europe/Berlin"
        assert region_timezone(Region(code="X", name="X", timezone="Asia/Tokyo", center_lat=0,
                                      center_lon=0, min_lat=0, min_lon=0, max_lat=1,
                                      max_lon=1)) == "Asia/Tokyo"
        assert Region(code="Y", name="Y", center_lat=0, center_lon=0, min_lat=0, min_lon=0,
                      max_lat=1, max_lon=1).timezone == "Europe/Berlin"


def test_outside_the_app_the_environment_names_the_default(monkeypatch):
    monkeypatch.setenv("DEFAULT_TIMEZONE", "America/Sao_Paulo")
    assert default_timezone() == "America/Sao_Paulo"
    monkeypatch.delenv("DEFAULT_TIMEZONE")
    assert default_timezone() == "Asia/Shanghai"
