-- Every invoice number in its latest version: the later file month wins, then the later line
-- (sources.md reading 3). Void invoices are kept here with is_void; marts exclude them.
select
    *,
    status = 'void' as is_void
from {{ ref('stg_invoices') }}
qualify row_number() over (
    partition by invoice_number order by file_month desc, source_file desc, source_line desc
) = 1
