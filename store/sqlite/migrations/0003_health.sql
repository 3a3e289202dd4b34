-- One row that PingWrite rewrites: a write that needs the disk, so that a
-- store which can be read but not written (a full disk) reports it.
CREATE TABLE health (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    checked INTEGER NOT NULL
);
