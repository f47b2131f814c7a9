"""Road routing for dispatch: driving graph, snapping, shortest paths, crew recommendation.

* :mod:`.graph` builds the directed driving graph from road records (topology rules there).
* :mod:`.loading` builds it from the imported ``roads`` table.
* :mod:`.snapping` puts lon/lat points on the nearest drivable road (shapely STRtree).
* :mod:`.paths` answers travel times and routes with ``scipy.sparse.csgraph.dijkstra``
  (C over CSR arrays; networkx is only the naive reference in tests and the benchmark).
* :mod:`.recommend` ranks crews for a job.
* :mod:`.matrix` answers many-to-many travel times (one batched Dijkstra);
  :mod:`.fleet` plans a whole fleet over many jobs with OR-Tools (:mod:`.fleet_model`).
* :mod:`.speeds` is the one table of driving speeds per road class.

No Qt and no ORM objects leave this package: results are plain dataclasses.
"""

from backend.routing.graph import RoadGraph, RoadRecord
from backend.routing.loading import graph_from_db, load_road_records
from backend.routing.paths import Route, Router, TargetSearch
from backend.routing.recommend import (
    CrewChoice,
    CrewEta,
    CrewSpec,
    EtaBoard,
    JobSpec,
    Recommendation,
    RecommendPolicy,
    crew_etas,
    recommend,
)
from backend.routing.snapping import RoadSnapper, Snap

__all__ = [
    "CrewChoice",
    "CrewEta",
    "CrewSpec",
    "EtaBoard",
    "JobSpec",
    "RecommendPolicy",
    "Recommendation",
    "RoadGraph",
    "RoadRecord",
    "RoadSnapper",
    "Route",
    "Router",
    "Snap",
    "TargetSearch",
    "crew_etas",
    "graph_from_db",
    "load_road_records",
    "recommend",
]
