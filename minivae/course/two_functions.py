"""Exercises in which the learner writes two functions (a formula and its gradient): each is
checked on its own, and the verdict reports on both.

`check_both` runs one check per function and returns their results when both are right. When
one or both are wrong it raises one Finding: the first wrong function's (one that runs
minivae's code first, then a wrong one, then an untouched blank), with an aside saying how the
other stands ("kl_gradient: right", "wrong too", "not done yet").
"""

from minivae.course.verdict import FLAGGED, NOT_DONE, RIGHT, WRONG, Finding


def check_both(learners, checks):
    """checks[i](learners[i]) for both; their results if neither raised a Finding, else one
    Finding for the two (`combined`)."""
    findings, results = {}, []
    for learner, check in zip(learners, checks, strict=True):
        try:
            results.append(check(learner))
        except Finding as finding:
            findings[learner.name] = finding
    if findings:
        raise combined(findings, [learner.name for learner in learners])
    return results


def combined(findings, names):
    """One Finding for two functions: the first wrong one's, and how the other one stands."""
    if len(findings) == 2 and all(f.status == NOT_DONE for f in findings.values()):
        return Finding(NOT_DONE, f"{' and '.join(names)} still raise NotImplementedError",
                       findings[names[0]].why)
    shown = next(n for status in (FLAGGED, WRONG, NOT_DONE) for n in names
                 if n in findings and findings[n].status == status)
    other = next(n for n in names if n != shown)
    status = {None: RIGHT, NOT_DONE: "not done yet", WRONG: "wrong too", FLAGGED: "flagged too"}[
        findings[other].status if other in findings else None
    ]
    finding = findings[shown]
    asides = [*finding.asides, f"{other}: {status}"]
    return Finding(finding.status, finding.what, finding.why, asides)
