"""On failure, shows the end of each test cluster's server log in pytest's summary."""

from pathlib import Path

CLUSTER_LOGS = []  # filled by test_delivery.Cluster.start


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus == 0:
        return
    for path in CLUSTER_LOGS:
        try:
            lines = Path(path).read_text(errors="replace").splitlines()[-25:]
        except OSError:
            continue
        terminalreporter.section(f"last lines of {path}", sep="-")
        for line in lines:
            terminalreporter.write_line(line)
