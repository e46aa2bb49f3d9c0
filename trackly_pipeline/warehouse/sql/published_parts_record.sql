-- The copy is in place: the month file it reads for one month of a partitioned table.
INSERT INTO ops.published_parts
VALUES ($table, $month, $file, now());
