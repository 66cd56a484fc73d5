"""How one OR-Tools search runs: its configurations and the portfolio ``seed``/``workers`` pick from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_ils_pb2,
    routing_parameters_pb2,
)

from .objective import COST_SCALE

LEAN_OFF = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
    "use_relocate_expensive_chain",
)

ProgressFn = Callable[[float, int | None, int], None]


@dataclass(frozen=True)
class SearchConfig:
    """One way of searching; ``seed`` and ``workers`` pick from a portfolio of these."""

    name: str
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    ils: bool = False
    gls_lambda: float = 0.1
    neighbors_ratio: float = 1.0
    min_neighbors: int = 1
    mab: bool = False
    ruins: tuple[str, ...] = ("sisr",)
    ruin_size: int = 10
    sa_temperature: float = 0.0  # 0: automatic temperatures
    lean: bool = False  # switch off the slow insertion-LNS operators
    fs_neighbors_ratio: float = 1.0  # insertion heuristics: share of neighbours considered
    scheduling: str = "default"  # "off": no LP/MIP cumul scheduling in filters; "glop": LP only


#: ordered: seed 0 (and None) uses the first, workers run consecutive entries.
PORTFOLIO: list[SearchConfig] = [
    SearchConfig("lci-gls-lean", first_solution="LOCAL_CHEAPEST_INSERTION", lean=True),
    SearchConfig("pci-gls-lean", lean=True),
    SearchConfig("savings-gls-lean", first_solution="SAVINGS", lean=True),
    SearchConfig("pci-gls"),
    SearchConfig("lci-sa-lean", first_solution="LOCAL_CHEAPEST_INSERTION", metaheuristic="SIMULATED_ANNEALING",
                 lean=True),
    SearchConfig("lci-tabu-lean", first_solution="LOCAL_CHEAPEST_INSERTION", metaheuristic="TABU_SEARCH",
                 lean=True),
]


def search_parameters(
    config: SearchConfig,
    time_limit_s: float,
    solution_limit: int | None,
    log_search: bool,
    from_start: bool,
) -> routing_parameters_pb2.RoutingSearchParameters:
    """OR-Tools' search parameters for one search with ``config``.

    ``from_start``: the search starts from given routes (``RoutingModel.read_routes``).
    """
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, config.first_solution)
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, config.metaheuristic
    )
    params.guided_local_search_lambda_coefficient = config.gls_lambda
    if config.ils:
        params.use_iterated_local_search = True
        ils = params.iterated_local_search_parameters
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        for ruin in config.ruins:
            strat = rr.ruin_strategies.add()
            if ruin == "sisr":
                strat.sisr.max_removed_sequence_size = config.ruin_size
                strat.sisr.avg_num_removed_visits = config.ruin_size
                strat.sisr.bypass_factor = 0.01
            elif ruin == "close":
                strat.spatially_close_routes.num_ruined_routes = 2
            else:
                strat.random_walk.num_removed_visits = config.ruin_size
        rr.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        if config.sa_temperature > 0:
            sa.initial_temperature = config.sa_temperature * COST_SCALE
            sa.final_temperature = config.sa_temperature * COST_SCALE / 1000.0
            sa.automatic_temperatures = False
        else:
            sa.automatic_temperatures = True
    if config.neighbors_ratio < 1.0:
        params.ls_operator_neighbors_ratio = config.neighbors_ratio
        params.ls_operator_min_neighbors = config.min_neighbors
    if config.lean:
        ops = params.local_search_operators
        for op in LEAN_OFF:
            setattr(ops, op, 2)  # BOOL_FALSE
    if config.fs_neighbors_ratio < 1.0:
        gci = params.global_cheapest_insertion_first_solution_parameters
        gci.neighbors_ratio = config.fs_neighbors_ratio
        gci.min_neighbors = 10
        params.savings_parameters.neighbors_ratio = config.fs_neighbors_ratio
    if config.scheduling == "off":
        params.disable_scheduling_beware_this_may_degrade_performance = True
    elif config.scheduling == "glop":
        params.mixed_integer_scheduling_solver = routing_parameters_pb2.RoutingSearchParameters.SCHEDULING_GLOP
    if config.mab:
        params.use_multi_armed_bandit_concatenate_operators = True
    params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
    if from_start:  # restoring a start with breaks searches for their places: give it time
        params.lns_time_limit.FromMilliseconds(max(100, int(time_limit_s * 500)))
    if solution_limit:
        params.solution_limit = int(solution_limit)
    params.log_search = log_search
    return params
