"""Exploration products: mining change detection (:mod:`.change`), mineral
prospectivity (:mod:`.prospectivity`), solar and wind potential
(:mod:`.renewables`), conflict zones (:mod:`.conflicts`) and environmental
impact (:mod:`.impact`)."""
