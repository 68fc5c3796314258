"""The Markdown page of a certify run (``summary.md``), rendered from its
:class:`~crowd.pipelines.report_summary.CertifySummary`, never edited by hand: a table of the metrics in plain
names, the label-flip note, the curves, the worlds, the method and a glossary of the terms the page uses.
"""

from __future__ import annotations

from crowd.attacks import NO_ATTACK
from crowd.certify import CONFIDENT_ACCURACY_LABEL
from crowd.pipelines.report_summary import CertifySummary, Curve


def render_markdown(s: CertifySummary) -> str:
    """The Markdown summary page of a run."""
    run, worlds = s.run, s.worlds
    non_target = _points(s.aimed.non_target_curve)
    lines = [
        f"# crowd certify: {run.dataset} / {_attack(s)}",
        "",
        *[f"**Warning**: {w}.\n" for w in s.warnings],
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in _metric_rows(s)],
        "",
        *([f"{worlds.label_flips_note}.", ""] if worlds.label_flips_note else []),
        *([f"Non-target texts, certified accuracy by radius: {non_target}", ""] if non_target else []),
        f"All clean texts, certified accuracy by radius, {run.certificate} certificate: {_points(s.curve)}",
        "",
        f"Reference world of the certificate: {worlds.reference_world}. These models were trained on "
        f"{worlds.trained_on}"
        + (
            " (world = reference, the attack's reference corpus): the curve holds for every attack of at most "
            "r units of this kind applied to that corpus."
            if worlds.world == "reference"
            else "."
        ),
        "",
        *_reuse_note(s),
        _method_line(s),
        "",
        *_glossary(s),
    ]
    return "\n".join(lines) + "\n"


def _attack(s: CertifySummary) -> str:
    run = s.run
    return {NO_ATTACK: "no attack", "given": "a given corpus"}.get(
        run.attack, f"{run.attack} (rate {run.poison_rate})"
    )


def _method_line(s: CertifySummary) -> str:
    """Method, learner, models, statistics, seed, corpus sizes and hardware, in one sentence."""
    run = s.run
    learner = f"{run.learner} on {run.model}" if run.model else run.learner
    statistics = (
        "deterministic: no sampling, no α"
        if run.selection == "deterministic"
        else f"α = {run.alpha} ({run.selection}{', simultaneous over the test set' if run.simultaneous else ''})"
    )
    return (
        f"Method: {run.noise}. Learner {learner}, {run.n_copies} models, {statistics}, seed {run.seed}; "
        f"{run.n_train} training texts ({run.n_poisoned_train} poisoned), {run.n_test_clean} clean test "
        f"texts. Hardware: {run.hardware}."
    )


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _points(curve: Curve) -> str:
    return " · ".join(f"r={p.radius}: {_pct(p.certified_accuracy)}" for p in curve[:12])


def _metric_rows(s: CertifySummary) -> list[tuple[str, str]]:
    """The table's rows, in plain names (the glossary below the table defines each)."""
    aimed, covered = s.aimed, s.covered
    at = f" at budget {s.attack_budget}"
    budget = f"{_pct(s.certified_accuracy_at_budget)}{at}" if covered else s.not_covered_reason
    constant = (
        f"constant classifier, always class {aimed.constant_class}: {_pct(aimed.constant_certified_accuracy)}"
    )
    rows = []
    if aimed.non_target_curve:
        value = f"**{_pct(aimed.certified_accuracy_non_target_at_budget)}{at}**" if covered else "—"
        rows.append((f"**certified accuracy, non-target texts** (true label ≠ {s.run.target_label})", value))
    if aimed.collective_certified_accuracy_non_target_at_budget is not None:
        value = f"{_pct(aimed.collective_certified_accuracy_non_target_at_budget)}{at}"
        rows.append(("collective certified accuracy, non-target texts (dataset-level)", value))
    per_class = " · ".join(
        f"class {c}: {_pct(v)}" for c, v in enumerate(aimed.per_class_certified_accuracy_at_budget)
    )
    triggered = _pct(s.certified_triggered_accuracy_at_budget) if covered else "—"
    return [
        *rows,
        ("certified accuracy, all clean texts", f"{budget} ({constant})"),
        ("certified accuracy by true class, at the budget", per_class if covered else "—"),
        ("clean accuracy (CACC)", _pct(s.cacc)),
        ("majority-vote accuracy", _pct(s.majority_vote_accuracy)),
        ("abstentions, clean texts", _pct(s.abstain_rate_clean)),
        (
            f"attack success rate (ASR), {s.run.n_test_poison_non_target} triggered non-target texts",
            _pct(s.asr),
        ),
        ("base rate", _pct(s.base_rate)),
        ("majority-vote ASR", _pct(s.majority_vote_asr)),
        ("confident accuracy", _pct(s.confident_accuracy)),
        ("certified accuracy, triggered texts, at the budget", triggered),
        *_test_side_rows(s),
    ]


def _test_side_rows(s: CertifySummary) -> list[tuple[str, str]]:
    """The test-side certificate's rows (its own unit, beside the training side's, never merged)."""
    side = s.test_side
    if side is None:
        return []
    if side.certified_accuracy_at_budget is None:
        at_budget = side.not_covered_reason or "—"
    else:
        uncovered = (
            f"; {side.n_not_covered} triggers not covered, counted as not certified"
            if side.n_not_covered
            else ""
        )
        at_budget = f"{_pct(side.certified_accuracy_at_budget)} at each text's budget (at most {side.budget}){uncovered}"
    return [
        (f"test side ({side.unit}): certified accuracy, clean texts", _points(side.curve)),
        (
            "test side: triggered non-target texts whose clean text is certified at the trigger's size",
            at_budget,
        ),
    ]


# The terms a page may use (THEORY §4), in the order the glossary lists them; ``{target}`` is the target class,
# ``{unit}`` the certificate's unit.
GLOSSARY = (
    (
        "radius, budget",
        "sizes of an attack in the certificate's unit, {unit}; the budget is the size of the attack actually "
        "applied to this corpus",
    ),
    (
        "certified accuracy at radius r",
        "share of texts predicted correctly whose prediction provably stays the same under every attack of at "
        "most r units",
    ),
    (
        "non-target texts",
        "clean test texts whose true label is not the target ({target}): the texts a backdoor tries to flip",
    ),
    (
        "collective certified accuracy",
        "the share guaranteed for the whole test set at once against one trigger, which touches the same groups "
        "in every text; not a per-text guarantee",
    ),
    ("constant classifier", "one that always answers the same class: the all-text number a lean earns"),
    (
        "clean accuracy (CACC)",
        "accuracy of the defended classifier on clean test texts; abstentions count as wrong",
    ),
    ("majority-vote accuracy", "accuracy of the plain plurality vote, which never abstains"),
    ("attack success rate (ASR)", "share of triggered non-target texts predicted as the target ({target})"),
    ("base rate", "share of clean non-target texts predicted as the target: the ASR with no trigger"),
    ("confident accuracy", CONFIDENT_ACCURACY_LABEL.removeprefix("confident accuracy ").strip("()")),
    (
        "observed world / reference world",
        "the poisoned training set the models saw / the corpus the certificate compares it with",
    ),
    ("abstention", "no class wins with the required confidence or margin; counted as wrong"),
    (
        "test side",
        "a second certificate of the same votes, in substitutions of the test text itself: a clean text "
        "certified at test-side radius r keeps its prediction under every trigger of at most r synonym "
        "substitutions, whatever the training set; inserted words and paraphrases are outside it",
    ),
)


def _glossary(s: CertifySummary) -> list[str]:
    """Short definitions of the terms the page uses, only those that appear on it."""
    absent = set()
    if s.aimed.collective_certified_accuracy_non_target_at_budget is None:
        absent.add("collective certified accuracy")
    if not s.aimed.non_target_curve:
        absent.add("non-target texts")
    if s.test_side is None:
        absent.add("test side")
    lines = [
        f"- **{term}**: {text.format(target=s.run.target_label, unit=s.run.radius_unit)}."
        for term, text in GLOSSARY
        if term not in absent
    ]
    return ["## Glossary", "", *lines]


def _reuse_note(s: CertifySummary) -> list[str]:
    """What a run that re-used stored votes says (nothing otherwise): which votes, and for a smoothing method the
    optional-stopping caveat. A deterministic certificate (DPA, word partitions) states no confidence for
    optional stopping to spoil: the same models give the same votes however often the run resumes."""
    if not s.reused_votes:
        return []
    note = (
        f"Votes of {s.reused_votes} of the {s.run.n_copies} models were stored by an earlier run and re-used."
    )
    if s.run.selection != "deterministic":
        note += (
            " Choosing N or α after looking at earlier certificates is optional stopping: the stated confidence "
            "holds only if they were fixed in advance."
        )
    return [note, ""]
