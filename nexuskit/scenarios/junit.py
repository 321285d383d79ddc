"""A JUnit XML report of a suite run (what CI systems show as test results).

One ``<testcase>`` per scenario (classname ``scenarios``, the file as ``file``); a failed
scenario carries a ``<failure>`` with the readable account (step, expected vs actual, log
tails), a skipped one a ``<skipped>`` with the reason; every case's ``<system-out>`` lists
its steps as they ran.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from nexuskit.scenarios.results import ScenarioResult, SuiteResult, render_failure

SUITE_NAME = "nexuskit scenarios"


def _steps_text(result: ScenarioResult) -> str:
    lines = [f"{result.name} on {result.stack or 'no stack'}"]
    for step in result.steps:
        took = f"{step.duration_s:.2f} s"
        lines.append(f"  [{step.status}] {step.index} {step.kind}: {step.title} - {step.summary} ({took})")
    return "\n".join(lines)


def junit_tree(suite: SuiteResult) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name=SUITE_NAME)
    node = ET.SubElement(
        root,
        "testsuite",
        name=SUITE_NAME,
        tests=str(len(suite.scenarios)),
        failures=str(suite.count("failed")),
        errors="0",
        skipped=str(suite.count("skipped")),
        time=f"{suite.duration_s:.3f}",
    )
    for result in suite.scenarios:
        case = ET.SubElement(
            node, "testcase", classname="scenarios", name=result.name, file=str(result.file),
            time=f"{result.duration_s:.3f}",
        )  # fmt: skip
        if result.status == "failed":
            failure = ET.SubElement(case, "failure", message=result.message[:500], type="ScenarioFailure")
            failure.text = render_failure(result)
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", message=result.message[:500])
        ET.SubElement(case, "system-out").text = _steps_text(result)
    root.set("tests", node.get("tests", "0"))
    root.set("failures", node.get("failures", "0"))
    root.set("skipped", node.get("skipped", "0"))
    root.set("time", node.get("time", "0"))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(suite: SuiteResult, path: Path) -> Path:
    """Write the report (atomically) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    junit_tree(suite).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
