-- The copy is in place: a month it published is no longer pending. Months are compared as
-- publish_pending_months.sql read them (an infinite one as $first_month or $last_month).
DELETE FROM ops.publish_pending
WHERE table_name = $table
    AND greatest(least(date_trunc('month', month)::DATE, $last_month), $first_month) = $month;
