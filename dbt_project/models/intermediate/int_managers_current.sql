-- Each staff member as the newest snapshot that lists them describes them.
{{ first_row_per(ref('stg_managers'), 'manager_id', 'snapshot_date desc, source_file desc, source_line desc') }}
