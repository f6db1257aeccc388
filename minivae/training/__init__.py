"""Training runs: settings, the loop, checkpoints, run directories, evaluation.

config             TrainConfig, each field with its limit; what may change on resume
trainer            Trainer and train(): batches, KL warm-up, metrics, exact resume
data_identity      the data a run trains on (name, sizes, SHA-256), compared on resume
checkpoint_schema  what a checkpoint must hold, checked in one place
checkpoint         reading and writing checkpoints, atomically and checked
run_lock           one run at a time in a run directory (run.lock)
run_dir            a run directory started, resumed or read back (load_run, read_metrics)
evaluate           the evaluation protocol: -ELBO, the IWAE bound, active units
progress           the progress bar
"""
