-- Each publisher as the newest snapshot that lists it describes it.
{{ first_row_per(ref('stg_publishers'), 'publisher_id', 'snapshot_date desc, source_file desc, source_line desc') }}
