import subprocess
import sys


def test_core_does_not_import_reflex():
    code = ("import sys, mts_portal.core.charging, mts_portal.core.billing, mts_portal.core.auth, "
            "mts_portal.core.rating, mts_portal.core.jobs, mts_portal.core.live; "
            "assert 'reflex' not in sys.modules, 'reflex was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_api_does_not_import_reflex():
    code = "import sys, mts_portal.api; assert 'reflex' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
