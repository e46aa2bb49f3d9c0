-- Load one message log file: its rows numbered in file order (source_row), with the file's path
-- ($path, as source_file). Template: reader (log_files_read_*.sql). Returns the number of rows
-- inserted.
INSERT INTO trackly.messages (
    message_id, creative_id, campaign_id, contact_id, sending_list_id, sent_at, source_file, source_row
)
SELECT
    message_id,
    creative_id,
    campaign_id,
    contact_id,
    sending_list_id,
    sent_at,
    $path AS source_file,
    source_row
FROM ({reader});
