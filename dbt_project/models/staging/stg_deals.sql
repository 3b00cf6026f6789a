-- Sales pipeline snapshots.
select
    cast(snapshot_date as date)           as snapshot_date,
    cast(deal_id as bigint)               as deal_id,
    cast(company_id as bigint)            as company_id,
    cast(advertiser_id as bigint)         as advertiser_id,
    cast(pipeline as {{ dbt.type_string() }})             as pipeline,
    cast(stage as {{ dbt.type_string() }})                as stage,
    cast(expected_monthly_budget as double) as expected_monthly_budget_rub,
    cast(created_at as timestamp)         as created_at,
    cast(closed_at as timestamp)          as closed_at,
    cast(responsible_user_id as bigint)   as responsible_manager_id,
    cast(loss_reason as {{ dbt.type_string() }})          as loss_reason,
    cast(_source_file as {{ dbt.type_string() }})         as source_file,
    cast(_source_line as bigint)          as source_line
from {{ source('raw', 'deals') }}
