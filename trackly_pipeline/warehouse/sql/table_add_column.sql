-- A schema upgrade adds a trailing column this version declares and the file lacks (schema.py):
-- NULL, or its DEFAULT, in existing rows. Template: table_name and column_ddl (name, type, DEFAULT,
-- NOT NULL) come from our own schema files, never from the data.
ALTER TABLE {table_name} ADD COLUMN {column_ddl};
