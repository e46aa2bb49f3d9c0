-- The sweep's quarantined conversion ids as the row parser reads them (registered as
-- unreadable_id_list): conversions_replace_window.sql holds them at their last good state.
CREATE OR REPLACE TEMP TABLE unreadable_ids AS
SELECT conversion_id
FROM unreadable_id_list;
