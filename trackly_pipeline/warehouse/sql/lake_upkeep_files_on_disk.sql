-- The files under the lake's data path and their bytes (`pattern`: the data path and `**`). Only
-- the size is read, not the files' content.
SELECT
    count(*) AS files,
    coalesce(sum(size), 0) AS bytes
FROM read_blob($pattern);
