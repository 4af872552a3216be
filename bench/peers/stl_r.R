#!/usr/bin/env Rscript
# R's stats::stl timed on the case bench/stl runs (same series shape, R's
# defaults for the seasonal window), for bench/stl_compare.sh.
#
#   Rscript bench/peers/stl_r.R N PERIOD SWINDOW|periodic ROBUST(0|1) [REPEAT]
#
# Prints RESULT {"impl": "R", "n": N, "period": P, "robust": 0|1, "seconds_per_call": S},
# S the median over REPEAT samples, each sample k calls lasting >= 0.1 s.
# As in ../shared/peers/stl_r.R, odd periods use l.window = period + 2 so
# that statsmodels can run the same parameters.
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(as.numeric(args[1])); period <- as.integer(args[2])
sw <- if (args[3] == "periodic") "periodic" else as.integer(args[3])
robust <- args[4] == "1"
reps <- if (length(args) >= 5) as.integer(args[5]) else 5L
set.seed(1)
t <- seq_len(n)
x <- ts(2 * t / n + sin(2 * pi * t / period) + 0.3 * cos(4 * pi * t / period) + rnorm(n, sd = 0.2),
        frequency = period)
a <- list(x, s.window = sw, robust = robust)
if (period %% 2 == 1) a$l.window <- period + 2
k <- 1L
repeat {                                   # warm-up, and k calls lasting >= 0.1 s
  el <- system.time(for (i in seq_len(k)) do.call(stl, a))[["elapsed"]]
  if (el >= 0.1) break
  k <- 2L * k
}
el <- replicate(reps, system.time(for (i in seq_len(k)) do.call(stl, a))[["elapsed"]] / k)
cat(sprintf('RESULT {"impl": "R", "n": %d, "period": %d, "robust": %d, "seconds_per_call": %.6g}\n',
            n, period, as.integer(robust), median(el)))
