#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Print the passed, failed and skipped tests of JUnit reports, and a total.

    python3 scripts/junit_summary.py .build/reports/junit-*.xml

One line per suite, then ``N passed, N failed, N skipped``. A test counts
once: failed if any of its reports (setup, call, teardown, subtests) failed.
A report whose suite errored before any test counts as one failure.
"""

import sys
import xml.etree.ElementTree as ET

RANK = {"passed": 0, "skipped": 1, "failed": 2}


def outcome(case):
    tags = {child.tag for child in case}
    if tags & {"failure", "error"}:
        return "failed"
    return "skipped" if "skipped" in tags else "passed"


def suite_counts(suite):
    worst = {}
    for case in suite.iter("testcase"):
        key = (case.get("file"), case.get("classname"), case.get("name"))
        this = outcome(case)
        if RANK[this] >= RANK[worst.get(key, "passed")]:
            worst[key] = this
    if not worst and int(suite.get("errors", 0)):
        worst[("collection",)] = "failed"
    counts = dict.fromkeys(RANK, 0)
    for this in worst.values():
        counts[this] += 1
    return counts


def main(paths):
    total = dict.fromkeys(RANK, 0)
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            print(f"  {path}: no readable report ({exc})")
            total["failed"] += 1
            continue
        for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
            counts = suite_counts(suite)
            print(
                f"  {suite.get('name')}: {counts['passed']} passed, "
                f"{counts['failed']} failed, {counts['skipped']} skipped"
            )
            for key in RANK:
                total[key] += counts[key]
    print(
        f"{total['passed']} passed, {total['failed']} failed, "
        f"{total['skipped']} skipped"
    )
    return 1 if total["failed"] or not total["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
