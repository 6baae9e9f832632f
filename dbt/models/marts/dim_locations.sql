{%- set airport_location_ids = var('airport_location_ids') | join(', ') -%}

with

zones as (

    select * from {{ ref('stg_zones') }}

),

final as (

    select
        location_id,
        borough,
        zone_name,
        service_zone,
        location_id in ({{ airport_location_ids }}) as is_airport

    from zones

)

select * from final
