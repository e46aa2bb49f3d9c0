-- A log file is loaded: its signature (size, modification time) tells the next run whether it
-- changed since.
INSERT INTO ops.loaded_files
VALUES ($kind, $path, $size, $mtime, $rows, $loaded_at);
