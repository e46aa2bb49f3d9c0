-- Load one click log file: its rows numbered in file order (source_row), with the file's path
-- ($path, as source_file). A click logged with an empty message id has no message (a CSV reads it
-- as NULL already; Parquet keeps ''). Template, from fixed lists only (never from the file): reader
-- (log_files_read_*.sql), and affiliate_id, the column itself or NULL for a file without it.
-- Returns the number of rows inserted.
INSERT INTO trackly.clicks (
    click_id, message_id, link_id, network_id, offer_id, clicked_at, ip, user_agent, source_file, source_row,
    affiliate_id
)
SELECT
    click_id,
    nullif(message_id, '') AS message_id,
    link_id,
    network_id,
    offer_id,
    clicked_at,
    ip,
    user_agent,
    $path AS source_file,
    source_row,
    {affiliate_id} AS affiliate_id
FROM ({reader});
