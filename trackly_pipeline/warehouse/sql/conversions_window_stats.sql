-- What replacing the window did (temp table window_stats, conversions_replace_window.sql).
SELECT rows, new, changed, unchanged, vanished, held
FROM window_stats;
