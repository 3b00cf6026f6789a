-- Publishers (webmasters) as the newest snapshot describes them; personal data only as hashes.
select
    publisher_id,
    name_hash,
    email_hash,
    phone_hash,
    country,
    registered_at,
    {{ reporting_day('registered_at') }} as registered_day,
    traffic_types,
    {{ array_first('traffic_types') }} as main_channel,
    status,
    manager_id
from {{ ref('int_publishers_current') }}
