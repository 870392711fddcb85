"""The command-line application: options and config (:mod:`.config`), the run
(:mod:`.run`), its cache glue (:mod:`.cache`), output folders (:mod:`.outputs`), the paper's
figures (:mod:`.reproduce`) and the ``wilsonian`` command (:mod:`.cli`)."""
