from __future__ import annotations

import pytest

from notifications.sender import TwilioSender
from tests.notifications.fake_twilio import FakeTwilio

FROM = "+15005550006"


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    fake.base_url = fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_sender(fake_twilio):
    return TwilioSender(fake_twilio.account_sid, fake_twilio.auth_token, from_number=FROM,
                        public_base_url="https://fixroute.example.com",
                        api_base_url=fake_twilio.base_url, timeout=5)
