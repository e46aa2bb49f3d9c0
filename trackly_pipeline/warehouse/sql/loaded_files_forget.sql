-- A log file removed or changed since it was loaded is no longer recorded as loaded.
DELETE FROM ops.loaded_files
WHERE kind = $kind AND path = $path;
