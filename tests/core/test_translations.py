import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_user_facing_string_has_a_chinese_translation():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
