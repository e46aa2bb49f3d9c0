-- A schema upgrade adds a trailing column this version declares and the file lacks (schema.py):
-- NULL, or its DEFAULT, in existing rows. Template: {table} and {column} (name, type, DEFAULT,
-- NOT NULL) come from our own schema files, never from the data.
ALTER TABLE {table} ADD COLUMN {column};
