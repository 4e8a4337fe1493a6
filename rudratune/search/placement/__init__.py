"""Where a sweep's trials run: which Ray to join (or a private local one, watched so it dies with its
driver), whether a trial's request fits a node, ``resources: auto``'s CPU split and GPU packing, and the lock
that keeps one driver per sweep."""

from rudratune.search.placement.cluster import local_raylets, ray_address_file, resolve_address
from rudratune.search.placement.lock import driver_lock
from rudratune.search.placement.packing import (
    Packing,
    estimate,
    measure_peak,
    model_configs,
    pack,
    packing_estimate,
    resource_plan,
    resources_for,
)
from rudratune.search.placement.ray_session import RAY_TEMP_MAX, check_address, init_ray, ray_temp_dir
from rudratune.search.placement.resources import check_cluster, check_fits, check_local

__all__ = [
    "RAY_TEMP_MAX",
    "Packing",
    "check_address",
    "check_cluster",
    "check_fits",
    "check_local",
    "driver_lock",
    "estimate",
    "init_ray",
    "local_raylets",
    "measure_peak",
    "model_configs",
    "pack",
    "packing_estimate",
    "ray_address_file",
    "ray_temp_dir",
    "resolve_address",
    "resource_plan",
    "resources_for",
]
