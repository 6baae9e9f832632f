with

source as (

    select * from {{ ref('rate_codes') }}

),

renamed as (

    select
        cast(rate_code_id as integer) as rate_code_id,
        rate_code_name

    from source

)

select * from renamed
