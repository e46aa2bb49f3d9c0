-- Stage a batch of a sweep's pages (registered as incoming_pages, with their seq).
INSERT INTO staged_conversions
SELECT *
FROM incoming_pages;
