"""How one OR-Tools search runs: its configurations and the portfolio ``seed``/``workers`` pick from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
