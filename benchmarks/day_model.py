"""A realistic day: how many residents one bot process serves, from the open-loop measurements.

The load a community puts on the bot is modelled from what its programmes record, plus assumptions where
they record nothing; every number below is printed with where it comes from, and every one can be changed
on the command line. The model answers: at the busiest hour, how many updates a second does a community
of N residents send, and so how large a community one process serves while its p99 stays under 100 ms
(the largest rate at which ``benchmarks/throughput.py --open-loop`` measured p99 < 100 ms).

    .venv/bin/python benchmarks/day_model.py --capacity 300          # capacity measured elsewhere
    .venv/bin/python benchmarks/day_model.py --capacity 300 --community 29720 --peak-hour-share 0.3

What the programmes say (../shared/seeds/, cited by the catalogue's files in data/):

* Первомайська громада (Strategy 2021–2027, section 3.1, seed 003): 29,720 urban residents on 1.1.2020,
  and the groups that receive or may need social services: 2,007 older people receiving services, 973
  single-parent families, 123 large families, 90 families raising a child with a disability, 91 families in
  difficult circumstances, 3 families with a parent with a disability, 13 + 58 + 84 people with a
  disability of groups I–III: 3,442 in all, 11.6 % of the residents.
* Володимирська громада (programme 2024–2027, seed 001): 5,650 people covered by social services on
  15.11.2023 (the seed gives no population to divide by, so it only confirms the order of magnitude).
* Первомайська, task 2.3.4 (data/pervomaiskyi/community.yaml, ``indicators``): more than 30 online
  consultations a year in 2023, growing 15–20 % a year to 2027, for one of the line's six topics.

What they do not say, and is assumed here: how often a person who receives services turns to the
community (one request a year each), how many look without asking, how many steps a visit takes, how
the traffic falls over a month and a day.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, fields
from typing import Optional

# --- from the programmes ---------------------------------------------------------------------------------
PERVOMAISKYI_RESIDENTS = 29_720  # seed 003, section 3.1, urban population on 1.1.2020
PERVOMAISKYI_RECIPIENTS = {  # seed 003, section 3.1 (the latest of each pair of years)
    "older people receiving social services": 2007,
    "single-parent families": 973,
    "large families": 123,
    "families raising a child with a disability": 90,
    "families in difficult life circumstances": 91,
    "families where a parent has a disability": 3,
    "people with a disability, groups I–III": 13 + 58 + 84,
}
CONSULTATIONS_BASE = 30  # task 2.3.4: more than 30 a year in 2023 ...
CONSULTATIONS_GROWTH = 0.15  # ... growing 15–20 % a year (the lower bound)
CONSULTATIONS_YEARS = 2027 - 2023  # ... to the end of the Strategy
CONSULTATION_TOPICS = 6  # data/shared/consultation_topics.yaml


def recipient_share() -> float:
    return sum(PERVOMAISKYI_RECIPIENTS.values()) / PERVOMAISKYI_RESIDENTS


def consultations_per_resident_year() -> float:
    """Task 2.3.4's target in its last year, for one topic, per resident of Первомайська громада."""
    return CONSULTATIONS_BASE * (1 + CONSULTATIONS_GROWTH) ** CONSULTATIONS_YEARS / PERVOMAISKYI_RESIDENTS


@dataclass(frozen=True)
class DayModel:
    """The activity of a community, per resident, and how it bunches in time."""

    recipient_share: float = recipient_share()  # programme: people receiving or needing services
    requests_per_recipient_year: float = 1.0  # assumed
    consultations_per_resident_year: float = consultations_per_resident_year()  # programme, one topic
    consultation_topics: int = CONSULTATION_TOPICS  # assumed: every topic as busy as the measured one
    browsing_visits_per_request: float = 3.0  # assumed: people who look and do not ask, per request
    updates_per_visit: float = 6.0  # /start or the menu, 🧭, a list, a situation, a service, back
    searches_per_request: float = 3.0  # assumed: searches in one's own words around a request
    form_updates_per_request: float = 10.0  # the request dialog: ask, consent, topic, whom, about,
    #                                         description, anonymous, contact, phone, confirm
    follow_up_updates_per_request: float = 3.0  # assumed: «Мої звернення», a reply, the rating
    messages_per_consultation: float = 20.0  # assumed: 10 from the resident, 10 from the specialist
    updates_around_consultation: float = 4.0  # the topic, the wait, the end, the rating
    days_per_month: float = 21.0  # assumed: residents write on working days
    peak_hour_share: float = 0.2  # assumed: the busiest hour carries a fifth of a working day's updates

    def requests_per_month(self, residents: float) -> float:
        return residents * self.recipient_share * self.requests_per_recipient_year / 12

    def consultations_per_month(self, residents: float) -> float:
        return residents * self.consultations_per_resident_year * self.consultation_topics / 12

    def updates_per_request(self) -> float:
        return (self.browsing_visits_per_request + 1) * self.updates_per_visit + self.searches_per_request \
            + self.form_updates_per_request + self.follow_up_updates_per_request

    def updates_per_consultation(self) -> float:
        return self.messages_per_consultation + self.updates_around_consultation

    def updates_per_month(self, residents: float) -> float:
        return (self.requests_per_month(residents) * self.updates_per_request()
                + self.consultations_per_month(residents) * self.updates_per_consultation())

    def peak_rate(self, residents: float) -> float:
        """Updates a second in the busiest hour, for a community of `residents`."""
        return self.updates_per_month(residents) / self.days_per_month * self.peak_hour_share / 3600

    def largest_community(self, capacity: float) -> float:
        """Residents whose busiest hour one process still serves at `capacity` updates a second."""
        per_resident = self.peak_rate(1.0)
        return capacity / per_resident if per_resident > 0 else math.inf

    def headroom(self, capacity: float, residents: float) -> float:
        rate = self.peak_rate(residents)
        return capacity / rate if rate > 0 else math.inf


def assumptions(model: DayModel) -> list[str]:
    """The model's numbers, in words, with where each comes from."""
    return [
        f"people receiving or needing services: {model.recipient_share:.1%} of residents "
        f"(Первомайська, Strategy 2021–2027 §3.1: {sum(PERVOMAISKYI_RECIPIENTS.values()):,} of "
        f"{PERVOMAISKYI_RESIDENTS:,})",
        f"requests a year per such person: {model.requests_per_recipient_year:g} (assumed)",
        f"online consultations a year per resident: {model.consultations_per_resident_year * 1000:.2f} per 1,000 "
        f"for one topic (Первомайська task 2.3.4: 30 in 2023, +15 % a year, in 2027) x {model.consultation_topics} "
        "topics (assumed equally busy)",
        f"updates per request: {model.updates_per_request():g} = ({model.browsing_visits_per_request:g} browsing "
        f"visits without a request (assumed) + 1) x {model.updates_per_visit:g} steps + "
        f"{model.searches_per_request:g} searches (assumed) + {model.form_updates_per_request:g} steps of the "
        f"request dialog + {model.follow_up_updates_per_request:g} follow-up steps (assumed)",
        f"updates per consultation: {model.updates_per_consultation():g} = {model.messages_per_consultation:g} "
        f"messages (assumed) + {model.updates_around_consultation:g} steps around them",
        f"busiest hour: {model.peak_hour_share:.0%} of a working day's updates, {model.days_per_month:g} working "
        "days a month (assumed)",
    ]


def summary(model: DayModel, capacity: Optional[float], residents: float) -> list[str]:
    """The lines to print: the load of `residents`, and what one process at `capacity` serves."""
    lines = [
        f"a community of {residents:,.0f}: {model.requests_per_month(residents):,.0f} requests and "
        f"{model.consultations_per_month(residents):,.1f} consultations a month, "
        f"{model.updates_per_month(residents):,.0f} updates a month, "
        f"{model.peak_rate(residents):.3f} updates/s in the busiest hour",
    ]
    if capacity is None or not capacity > 0:
        lines.append("capacity: not measured (no rate had p99 < 100 ms), so no community size is given")
        return lines
    largest = model.largest_community(capacity)
    lines.append(
        f"one process at {capacity:g} updates/s (the largest rate measured with p99 < 100 ms) serves the busiest "
        f"hour of a community of about {largest:,.0f} residents; for {residents:,.0f} residents the headroom is "
        f"{model.headroom(capacity, residents):,.0f}x"
    )
    return lines


def model_from(args: argparse.Namespace) -> DayModel:
    values = {f.name: getattr(args, f.name) for f in fields(DayModel) if getattr(args, f.name, None) is not None}
    return DayModel(**values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The model's numbers as options (``--peak-hour-share 0.3``); unset ones keep their defaults."""
    group = parser.add_argument_group("day model")
    group.add_argument("--community", type=float, default=PERVOMAISKYI_RESIDENTS,
                       help=f"residents of the community to give the headroom for (default {PERVOMAISKYI_RESIDENTS})")
    for item in fields(DayModel):
        option = "--" + item.name.replace("_", "-")
        group.add_argument(option, type=float, default=None, help=f"default {item.default:.6g}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacity", type=float, required=True,
                        help="updates/s one process serves with p99 < 100 ms (from throughput.py --open-loop)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    model = model_from(args)
    print("day model, assumptions:")
    for line in assumptions(model):
        print(f"  {line}")
    for line in summary(model, args.capacity, args.community):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
