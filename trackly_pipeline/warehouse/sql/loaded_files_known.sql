-- The files of one log ($kind) loaded so far, with the size and modification time they had: a
-- file whose signature differs is loaded again.
SELECT path, size_bytes, modified_ns
FROM ops.loaded_files
WHERE kind = $kind;
