-- Each offer as the newest snapshot that lists it describes it.
{{ first_row_per(ref('stg_offers'), 'offer_id', 'snapshot_date desc, source_file desc, source_line desc') }}
