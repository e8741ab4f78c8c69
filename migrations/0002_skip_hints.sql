-- RSS skipHours / skipDays, kept so a 304 (no body to parse) still honours them.
-- Bit h of skip_hours is hour h (GMT); bit d of skip_days is Monday (0) to Sunday (6).
ALTER TABLE sources ADD COLUMN skip_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN skip_days INTEGER NOT NULL DEFAULT 0;
