"""Plain data in and out of the routing solver.

Why plain dataclasses: the solver runs in another process (spawn context) or on
another machine, so a problem and its solution must pickle and serialise without
the database, Flask or OR-Tools.  Units are integers throughout: seconds for
times and durations (times are relative to any epoch the caller chooses, e.g.
seconds since local midnight of the planned day), metres for distances, whole
units for part counts.  Costs follow VROOM's convention: a vehicle's travel costs
``per_hour * travel_seconds / 3600 + per_km * metres / 1000`` (default
``per_hour=3600``, so cost == travel seconds).

Semantics worth knowing (they differ subtly between routing engines):

* ``Vehicle.capacity`` is the van's stock per part kind; ``Job.delivery`` is what
  the visit consumes.  A job served from the van uses van stock; a job whose parts
  the van lacks may be served through a ``Depot`` pickup earlier in the same route.
* A job's service must *start* inside one of its ``time_windows``; ``due`` is a
  soft deadline on the service start, costing ``lateness_cost_per_minute`` per
  minute late (VROOM cost units).
* ``Vehicle.time_window`` is the hard shift; ``overtime_after`` (if set) is the
  nominal end after which returning costs ``costs.overtime_per_hour``.
* ``Vehicle.steps`` pins the beginning of a route: the listed job steps are the
  first visits of that vehicle, in that order (in-progress and pinned visits);
  the solver may only append after them.
* ``Job.preferred_vehicle`` / ``Job.preferred_window`` are what a published day
  already told the merchant (technician, announced window).  They are soft: serving
  the job on another vehicle costs ``vehicle_change_cost``; starting it outside the
  preferred window costs ``window_change_cost_per_minute`` per minute outside.  The
  weights FixRoute uses (``KEEP_VEHICLE_COST``, ``KEEP_WINDOW_COST_PER_MINUTE``) sit
  well below dropping a required job (100 000+) and below any SLA lateness rate
  (15-300 per minute), so the solver keeps announcements unless something more
  important needs the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Skill = int | str
Window = tuple[int, int]

#: moving a published visit to another technician costs as much as 30 minutes of travel
KEEP_VEHICLE_COST = 1_800
#: each minute a published visit starts outside its announced window costs as much as
#: 10 s of travel: an hour outside (600) equals 10 minutes of travel, below the lowest
#: SLA lateness rate (15 per minute) and far below dropping a required job
KEEP_WINDOW_COST_PER_MINUTE = 10.0

#: unassigned reason codes and the sentence a dispatcher reads
REASONS: dict[str, str] = {
    "no_skill": "no technician has all the required skills",
    "no_part": "no technician carries the required parts and no depot stocks them",
    "unreachable_time_window": "cannot be reached inside any time window and shift",
    "capacity_of_day": "dropped for higher-priority work (capacity of the day)",
    "pinned_infeasible": "pinned visits cannot be kept as they are",
}


@dataclass
class Break:
    """A rest (lunch) the technician must take once, starting inside one window."""

    id: int
    time_windows: list[Window]
    service: int = 0
    description: str = ""


@dataclass
class Costs:
    """Vehicle costs, VROOM units (plus FixRoute's overtime rate)."""

    fixed: int = 0
    per_hour: int = 3600
    per_km: int = 0
    overtime_per_hour: int = 0


@dataclass
class VehicleStep:
    """A pinned step of a vehicle's route (VROOM ``vehicles[].steps[]``)."""

    type: str  # "start" | "job" | "break" | "end"
    id: int | None = None
    service_at: int | None = None
    service_after: int | None = None
    service_before: int | None = None


@dataclass
class Vehicle:
    """A technician with a van on shift."""

    id: int
    start_index: int | None = None
    end_index: int | None = None
    time_window: Window | None = None
    capacity: list[int] = field(default_factory=list)
    skills: list[Skill] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    max_tasks: int | None = None
    max_travel_time: int | None = None
    steps: list[VehicleStep] = field(default_factory=list)
    costs: Costs = field(default_factory=Costs)
    overtime_after: int | None = None
    description: str = ""
    start: tuple[float, float] | None = None  # lon, lat (informative)
    end: tuple[float, float] | None = None


@dataclass
class Job:
    """A work order visit."""

    id: int
    location_index: int
    service: int = 0
    delivery: list[int] = field(default_factory=list)
    skills: list[Skill] = field(default_factory=list)
    priority: int = 0
    time_windows: list[Window] = field(default_factory=list)
    due: int | None = None
    lateness_cost_per_minute: float = 0.0
    optional: bool = False
    description: str = ""
    location: tuple[float, float] | None = None
    # soft commitments of a published day (see the module docstring); defaults change nothing
    preferred_vehicle: int | None = None  # Vehicle.id the merchant was told
    vehicle_change_cost: float = 0.0  # VROOM cost units when served by another vehicle
    preferred_window: Window | None = None  # announced window on the service start
    window_change_cost_per_minute: float = 0.0  # per minute the start falls outside it


@dataclass
class Depot:
    """A stock location where a technician can collect parts on the way."""

    id: int
    location_index: int
    stock: list[int] = field(default_factory=list)  # available units per part kind
    service: int = 600  # time to collect parts
    time_windows: list[Window] = field(default_factory=list)
    description: str = ""


@dataclass
class Problem:
    """Everything one solve needs; matrices are square, indexed by location index."""

    vehicles: list[Vehicle]
    jobs: list[Job]
    durations: list[list[int]]
    distances: list[list[int]] | None = None
    depots: list[Depot] = field(default_factory=list)
    part_kinds: list[str] = field(default_factory=list)  # names of capacity dimensions

    @property
    def n_locations(self) -> int:
        return len(self.durations)

    @property
    def n_kinds(self) -> int:
        """Number of part kinds (capacity dimensions)."""
        n = len(self.part_kinds)
        for v in self.vehicles:
            n = max(n, len(v.capacity))
        for j in self.jobs:
            n = max(n, len(j.delivery))
        for d in self.depots:
            n = max(n, len(d.stock))
        return n


# ---------------------------------------------------------------- solution


@dataclass
class Step:
    """One stop of a route with its schedule.

    ``arrival`` is when the technician gets there, ``service_start`` when work
    starts (>= arrival; the difference is ``waiting_time``), ``end`` when it is
    done.  ``duration``/``distance`` are the travel from the previous located step.
    A break happens where the technician is (or on the road): it has no travel.
    A pickup step names the ``depot`` and the ``parts`` collected ``for_job``.
    """

    type: str  # "start" | "job" | "pickup" | "break" | "end"
    location_index: int | None
    id: int | None = None
    arrival: int = 0
    service_start: int = 0
    end: int = 0
    service: int = 0
    waiting_time: int = 0
    duration: int = 0
    distance: int = 0
    load: list[int] = field(default_factory=list)
    lateness: int = 0
    depot: int | None = None
    for_job: int | None = None
    parts: list[int] = field(default_factory=list)


@dataclass
class Route:
    vehicle: int
    steps: list[Step]
    cost: int = 0
    service: int = 0
    duration: int = 0  # total travel time
    waiting_time: int = 0
    distance: int = 0
    priority: int = 0
    delivery: list[int] = field(default_factory=list)
    lateness: int = 0  # seconds late summed over jobs
    overtime: int = 0  # seconds after overtime_after

    @property
    def job_ids(self) -> list[int]:
        """The jobs served, in order (a job step without an id names no job)."""
        return [s.id for s in self.steps if s.type == "job" and s.id is not None]


@dataclass
class Unassigned:
    id: int
    location_index: int | None
    code: str
    reason: str
    type: str = "job"


@dataclass
class Summary:
    cost: int = 0
    routes: int = 0
    unassigned: int = 0
    assigned: int = 0
    service: int = 0
    duration: int = 0
    waiting_time: int = 0
    priority: int = 0
    delivery: list[int] = field(default_factory=list)
    distance: int = 0
    lateness: int = 0
    overtime: int = 0


@dataclass
class SolverStats:
    status: str = ""
    wall_time_s: float = 0.0
    objective: int | None = None
    first_solution_strategy: str = ""
    metaheuristic: str = ""
    solutions_found: int = 0
    workers: int = 1
    seed: int | None = None
    config: str = ""
    builder: str = ""  # "pyvrp" | "vroom" | "" (OR-Tools alone)
    detail: str = ""  # what the builder and the finish did (iterations, start objective, repairs)


@dataclass
class Solution:
    routes: list[Route]
    unassigned: list[Unassigned]
    summary: Summary
    stats: SolverStats
    code: int = 0
