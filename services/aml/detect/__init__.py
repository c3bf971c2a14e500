"""Detection: per-transaction columns and account features, the pattern `detectors`, the
LightGBM risk model (`classifier`, `calibration`, `training`), alerts, the end-to-end
`pipeline` and its benchmark (`bench`). See README.md in this folder."""
