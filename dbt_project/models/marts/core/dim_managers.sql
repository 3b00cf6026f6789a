-- Staff as the newest snapshot describes them; names and e-mails only as hashes.
select
    manager_id,
    name_hash,
    email_hash,
    role,
    team_lead_id,
    hired_at,
    left_at,
    left_at is null as is_current
from {{ ref('int_managers_current') }}
