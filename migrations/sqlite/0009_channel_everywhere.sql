-- Every grain of the month sums now keeps the channel (receipt, open QR code), as the day counts
-- always did, so that any report can be limited to one channel. The month sums made before
-- kept it on the unit grain only: every fold is marked stale, so that months are read from the
-- day counts until the housekeeping folds them anew (rebuilt from their first day).
UPDATE count_folds SET through_day = 0;
