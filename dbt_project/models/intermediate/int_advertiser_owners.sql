-- Each advertiser's company and owners as the newest CRM snapshot says: account manager and
-- that manager's team lead (who receives the alerts). One row per advertiser_id; a company
-- listed twice for one advertiser keeps the most recently updated record.
with companies as (
    {{ first_row_per(ref('stg_companies'), 'advertiser_id',
                     'snapshot_date desc, updated_at desc, source_file desc, source_line desc',
                     where='advertiser_id is not null') }}
)

select
    companies.advertiser_id,
    companies.company_id,
    companies.company_name,
    companies.industry,
    companies.account_manager_id,
    coalesce(managers.team_lead_id,
             case when managers.role = 'team_lead' then managers.manager_id end) as team_lead_id,
    companies.bdm_id,
    companies.created_at as company_created_at
from companies
left join {{ ref('int_managers_current') }} as managers
    on managers.manager_id = companies.account_manager_id
