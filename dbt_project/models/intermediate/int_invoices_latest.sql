-- Every invoice number in its latest version: the later file month wins, then the later line
-- (sources.md reading 3). Void invoices are kept here with is_void; marts exclude them.
with invoices as (
    {{ first_row_per(ref('stg_invoices'), 'invoice_number',
                     'file_month desc, source_file desc, source_line desc') }}
)

select
    *,
    status = 'void' as is_void
from invoices
