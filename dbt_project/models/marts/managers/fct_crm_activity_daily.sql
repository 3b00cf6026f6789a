-- CRM activities per advertiser and reporting day of occurred_at.
select
    day,
    advertiser_id,
    count(*)                                           as activities,
    count(*) filter (where activity_type = 'call')     as calls,
    count(*) filter (where activity_type = 'email')    as emails,
    count(*) filter (where activity_type = 'meeting')  as meetings,
    count(*) filter (where activity_type = 'ticket')   as tickets,
    count(*) filter (where activity_type = 'note')     as notes,
    count(*) filter (where direction = 'out')          as outbound,
    count(*) filter (where direction = 'in')           as inbound
from {{ ref('int_activities') }}
where advertiser_id is not null
group by day, advertiser_id
