# Exploration products (issue 6): mining change detection, mineral
# prospectivity, solar and wind potential, conflict zones, environmental
# impact. Everything lands under results/{area}/products/; rule all takes
# product_targets(area, area_cfg(area), config["products"]) per area.
from coexplore.steps.products import product_targets

# the change network needs torch: the deep-learning environment
CHANGE_ENV = "../../envs/learn.yaml"


rule detect_change:
    input:
        unpack(
            lambda wc: {
                s: f"results/{wc.area}/cubes/{s}.zarr"
                for s in config["products"]["change"]["sources"]
                if s in area_cfg(wc.area)["sources"]
            }
        ),
        truth=lambda wc: [truth_path(wc.area, y) for y in area_years(area_cfg(wc.area))],
        maps=lambda wc: expand(
            "results/{area}/maps/landuse_{year}.tif", area=wc.area, year=area_years(area_cfg(wc.area))
        ),
        splits="results/{area}/splits.tif",
    output:
        maps=directory("results/{area}/products/change/change_maps.zarr"),
        metrics="results/{area}/products/change/metrics.csv",
        disturbance="results/{area}/products/change/disturbance.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        years=lambda wc: area_years(area_cfg(wc.area)),
        change=config["products"]["change"],
        split={k: config["classical"][k] for k in ("block_size", "split_fractions")},
    log:
        "results/{area}/logs/detect_change.log",
    benchmark:
        "results/{area}/benchmarks/detect_change.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        CHANGE_ENV
    script:
        "../scripts/detect_change.py"


rule export_change_map:
    input:
        "results/{area}/products/change/change_maps.zarr",
    output:
        report(
            "results/{area}/products/change/change_{year_from}_{year_to}.tif",
            caption="../report/change.rst",
            category="Products",
            subcategory="Change detection",
        ),
    wildcard_constraints:
        year_from=r"\d{4}",
        year_to=r"\d{4}",
    params:
        area=lambda wc: area_cfg(wc.area),
    log:
        "results/{area}/logs/export_change_map/{year_from}_{year_to}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/export_change_map.py"


rule map_prospectivity:
    input:
        landsat8="results/{area}/cubes/landsat8.zarr",
        geology="results/{area}/cubes/geology.zarr",
        ore=lambda wc: str(layout.truth_ore_path(raw_dir(wc.area))),
    output:
        map=report(
            "results/{area}/products/prospectivity.tif",
            caption="../report/prospectivity.rst",
            category="Products",
            subcategory="Prospectivity",
        ),
        evaluation="results/{area}/products/prospectivity_evaluation.json",
        success="results/{area}/products/success_rate.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        prospectivity=config["products"]["prospectivity"],
    log:
        "results/{area}/logs/map_prospectivity.log",
    benchmark:
        "results/{area}/benchmarks/map_prospectivity.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/map_prospectivity.py"


rule map_renewables:
    input:
        meteo="results/{area}/cubes/meteo.zarr",
        landsat8="results/{area}/cubes/landsat8.zarr",
        dem="results/{area}/cubes/dem.zarr",
        landuse=lambda wc: f"results/{wc.area}/maps/landuse_{area_years(area_cfg(wc.area))[-1]}.tif",
        stations=lambda wc: str(layout.meteo_path(raw_dir(wc.area))),
    output:
        solar=report(
            "results/{area}/products/solar.tif",
            caption="../report/solar.rst",
            category="Products",
            subcategory="Renewable energy",
        ),
        wind=report(
            "results/{area}/products/wind.tif",
            caption="../report/wind.rst",
            category="Products",
            subcategory="Renewable energy",
        ),
        exclusion="results/{area}/products/exclusion.tif",
        stations="results/{area}/products/wind_stations.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        renewables=config["products"]["renewables"],
    log:
        "results/{area}/logs/map_renewables.log",
    benchmark:
        "results/{area}/benchmarks/map_renewables.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/map_renewables.py"


rule find_conflicts:
    input:
        prospectivity="results/{area}/products/prospectivity.tif",
        landuse=lambda wc: f"results/{wc.area}/maps/landuse_{area_years(area_cfg(wc.area))[-1]}.tif",
        solar="results/{area}/products/solar.tif",
        wind="results/{area}/products/wind.tif",
    output:
        csv="results/{area}/products/conflicts.csv",
        gpkg=report(
            "results/{area}/products/conflicts.gpkg",
            caption="../report/conflicts.rst",
            category="Products",
            subcategory="Conflicts",
        ),
    params:
        area=lambda wc: area_cfg(wc.area),
        conflicts=config["products"]["conflicts"],
    log:
        "results/{area}/logs/find_conflicts.log",
    benchmark:
        "results/{area}/benchmarks/find_conflicts.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../scripts/find_conflicts.py"


rule assess_impact:
    input:
        landsat8="results/{area}/cubes/landsat8.zarr",
        maps=lambda wc: expand(
            "results/{area}/maps/landuse_{year}.tif", area=wc.area, year=area_years(area_cfg(wc.area))
        ),
    output:
        vegetation="results/{area}/products/impact_vegetation.csv",
        reclamation="results/{area}/products/impact_reclamation.csv",
        water="results/{area}/products/impact_water.csv",
    params:
        area=lambda wc: area_cfg(wc.area),
        years=lambda wc: area_years(area_cfg(wc.area)),
        impact=config["products"]["impact"],
    log:
        "results/{area}/logs/assess_impact.log",
    benchmark:
        "results/{area}/benchmarks/assess_impact.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    script:
        "../scripts/assess_impact.py"
