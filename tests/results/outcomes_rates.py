"""Reference numbers for outcomes' rates, produced by make_outcomes_rates.R (R 4.x, stats)."""

# rossi <- read.csv("../data/rossi.csv"); prop.test(48, 216, correct = FALSE)$conf.int   (fin = 1, financial aid)
ROSSI_FIN1 = {"k": 48, "n": 216, "ci": (0.1719061531, 0.2822459407)}
# prop.test(66, 216, correct = FALSE)$conf.int   (fin = 0, no financial aid)
ROSSI_FIN0 = {"k": 66, "n": 216, "ci": (0.2479669480, 0.3699395177)}
# x <- rossi$arrest[rossi$fin == 0]; 100 * (mean(x) + c(-1, 0, 1) * qnorm(0.975) * sd(x) / sqrt(length(x)))
ROSSI_FIN0_PER100 = {"per_100": 30.5555555556, "ci": (24.3982216265, 36.7128894846)}
