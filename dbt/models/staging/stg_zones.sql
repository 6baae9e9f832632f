{#
    Taxi zones: the official TLC taxi_zone_lookup.csv when its path is given
    (--vars '{zone_lookup_csv: /path/taxi_zone_lookup.csv}' or env var ZONE_LOOKUP_CSV),
    otherwise the project-authored approximation in seeds/taxi_zones.csv.
#}
{%- set zone_lookup_csv = var('zone_lookup_csv', '') or env_var('ZONE_LOOKUP_CSV', '') -%}

with

source as (

    {% if zone_lookup_csv %}
    {{ read_zone_lookup_csv(zone_lookup_csv) }}
    {% else %}
    select * from {{ ref('taxi_zones') }}
    {% endif %}

),

renamed as (

    -- LocationID, Borough, Zone: the TLC file's header, as spelled there
    select
        cast(LocationID as integer) as location_id,  -- noqa: CP02
        Borough as borough,  -- noqa: CP02, AL09
        Zone as zone_name,  -- noqa: CP02
        service_zone

    from source

)

select * from renamed
