"""The chance a contract pays over its whole life, for the built-in schemes, checked against their own settlement.

For each scheme, pricing.chances.rule_chances simulates the contract's whole life (every tranche at interim and at
final, pooled rules at the end, one baseline per life) when nothing changed and at a stated true effect, and gives
the chance that anything is paid, each rule's chances, and their Monte Carlo SEs. For Doncaster and Peterborough it
then replays --lives whole lives through pricing.settle itself: people, offences and a matched comparison drawn
person by person, each life settled at its final date; the share of lives in which anything is paid is the
independent check, with its own SE.

Assumptions (the sources give none of these): Peterborough, 1,000 men per cohort, 1.55 reconviction events per
comparison person, negative binomial shape 2, 10 comparisons each; Doncaster, 1,178 per cohort against the
assumed 2009 rate of 58%; Transforming Rehabilitation, one CRC's quarter (1,300 people, about 27,000 / 21) and all
CRCs' (27,000); the Custody Pathfinder, 220,000 young people, bed nights negative binomial with shape 0.01 (most
spend none). True effects: 10% fewer events, 5 points fewer, 1 point fewer, 10% fewer nights.

Run: python bench/contract_life.py [--draws 20000] [--lives 200]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from pricing import scheme, settle  # noqa: E402
from pricing.chances import rule_chances  # noqa: E402

CASES = (
    ("peterborough", 1_000, 1.55, 2.0, 0.90),
    ("doncaster", 1_178, 0.58, None, -0.05),
    ("transforming_rehabilitation", 1_300, 0.475, None, -0.01),
    ("transforming_rehabilitation", 27_000, 0.475, None, -0.01),
    ("youth_justice", 220_000, 0.33, 0.01, 0.90),
)


def life_table(draws: int) -> pd.DataFrame:
    rows = []
    for name, n, base, k, effect in CASES:
        started = time.perf_counter()
        r = rule_chances(scheme(name), n_per_tranche=n, base_rate=base, true_effect=effect, dispersion=k, draws=draws)
        rows.append(
            {
                "scheme": name,
                "people per tranche": n,
                "tranches": len(scheme(name).tranches),
                "anything paid, nothing changed": f"{r.chance_of_paying('none'):.1%} ± {r.chance_se('none'):.2%}",
                "anything paid, at the effect": f"{r.chance_of_paying('effect'):.1%} ± {r.chance_se('effect'):.2%}",
                "true effect": effect,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(f"\n{name}, {n:,} per tranche:\n{r.summary()}")
    return pd.DataFrame(rows)


def events(ids: np.ndarray, starts: pd.Series, per_person: np.ndarray) -> pd.DataFrame:
    """One conviction per event, each at its own court appearance, within the follow-up."""
    who = np.repeat(np.arange(len(ids)), per_person)
    nth = np.concatenate([np.arange(c) for c in per_person]) if len(per_person) else np.array([], dtype=int)
    offence = starts.to_numpy()[who] + pd.to_timedelta(10 + (nth * 7) % 300, unit="D")
    return pd.DataFrame(
        {
            "person_id": ids[who],
            "offence_date": offence,
            "disposal_date": offence + pd.to_timedelta(30 + nth, unit="D"),
            "disposal": "conviction",
        }
    )


def eligible(prefix: str, n: int, start, end) -> pd.DataFrame:
    days = pd.Series(pd.date_range(start, end, periods=n).normalize())
    return pd.DataFrame(
        {
            "person_id": [f"{prefix}{i:05d}" for i in range(n)],
            "start_date": days,
            "sex": "male",
            "sentence_months": 6,
            "establishment": "HMP Peterborough",
            "deported": False,
            "time_served": False,
            "breach": False,
        }
    )


def one_life(name: str, ratio: float, rng) -> dict[str, pd.DataFrame]:
    """People, offences (and for Peterborough the matched comparison) of one life, drawn person by person."""
    contract = scheme(name)
    people = [eligible(f"{t.name}-", 1_000 if name == "peterborough" else 1_178, t.start, t.end)
              for t in contract.tranches]  # fmt: skip
    offences = []
    comparison = []
    for t, group in zip(contract.tranches, people):
        n = len(group)
        if name == "peterborough":
            counts = rng.negative_binomial(2.0, 2.0 / (2.0 + 1.55 * ratio), n)
            control = rng.negative_binomial(2.0, 2.0 / (2.0 + 1.55), n * 10)
            comparison.append(pd.DataFrame({"tranche": t.name, "reoffences": control}))
        else:
            counts = (rng.random(n) < 0.58 + ratio).astype(int)
        offences.append(events(group["person_id"].to_numpy(), group["start_date"], counts))
    data = {"people": pd.concat(people, ignore_index=True), "offences": pd.concat(offences, ignore_index=True)}
    if comparison:
        table = pd.concat(comparison, ignore_index=True)
        table.insert(0, "person_id", [f"C{i:06d}" for i in range(len(table))])
        data["comparison"] = table
    return data


def settled_lives(name: str, effect: float, lives: int, seed: int) -> tuple[float, float]:
    """The share of lives in which the settlement itself pays anything (net of nothing: each life settled at its
    last final date, every payment in its ledger), with its SE."""
    rng = np.random.default_rng(seed)
    contract = scheme(name)
    last = max(t.final for t in contract.tranches)
    paid = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(lives):
            s = settle(contract, one_life(name, effect, rng), as_of=last)
            paid += bool((s.ledger["amount_pence"] > 0).any())
    p = paid / lives
    return p, math.sqrt(p * (1 - p) / lives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--lives", type=int, default=200)
    args = parser.parse_args()
    table = life_table(args.draws)
    print("\nThe chance anything is paid over the contract's life (± its Monte Carlo SE):")
    print(table.to_string(index=False))
    print(f"\nAgainst the settlement itself ({args.lives} lives each, drawn person by person):")
    for name, effects in (("doncaster", (0.0, -0.05)), ("peterborough", (1.0, 0.90))):
        for effect, scenario in zip(effects, ("none", "effect")):
            started = time.perf_counter()
            p, se = settled_lives(name, effect, args.lives, seed=11)
            n, base, k, true = next((c[1], c[2], c[3], c[4]) for c in CASES if c[0] == name)
            r = rule_chances(scheme(name), n_per_tranche=n, base_rate=base, true_effect=true, dispersion=k,
                             draws=args.draws)  # fmt: skip
            simulated, simulated_se = r.chance_of_paying(scenario), r.chance_se(scenario)
            gap = abs(p - simulated) / math.hypot(se, simulated_se)
            print(
                f"  {name} [{scenario}]: settled {p:.1%} ± {se:.1%}; simulated {simulated:.1%} ± {simulated_se:.1%}; "
                f"difference {gap:.1f} SE ({time.perf_counter() - started:.0f} s)"
            )


if __name__ == "__main__":
    main()
